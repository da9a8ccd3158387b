"""Customer timeline: a paged list model, its delegate and the view with filters."""
