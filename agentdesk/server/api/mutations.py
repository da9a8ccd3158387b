"""The mutation catalogue: every mutation a desktop may push, with its argument schema.

An integrator reads here (and at ``/docs``, where each argument class is a schema of its
own) what ``POST /sync/push`` accepts: the same classes the desktop builds and the
mutators parse, so the document cannot drift from the code. ``POST
/mutations/{name}/check`` parses arguments without applying them and answers with the
JSON the outbox would keep, or the refusal naming the field.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from agentdesk.server.auth import CurrentPrincipal
from agentdesk.server.problems import Problem
from agentdesk.store import mutations
from agentdesk.store.mutation_args.base import MutationArgs

router = APIRouter(prefix="/mutations", tags=["mutations"])


class MutationDoc(BaseModel):
    """One mutation: its name, the entity it changes, what it does, its arguments' schema."""

    name: str
    entity_type: str
    summary: str
    args_schema: dict[str, Any]


class CheckedArgs(BaseModel):
    """Arguments that parsed: as the centre would keep them (only the keys given)."""

    mutation: str
    args: dict[str, Any]


def _doc(name: str) -> MutationDoc:
    spec = mutations.spec(name)
    summary = (spec.args_type.__doc__ or "").strip().split("\n\n")[0]
    return MutationDoc(
        name=name,
        entity_type=spec.entity_type,
        summary=" ".join(summary.split()),
        args_schema=spec.args_type.model_json_schema(),
    )


@router.get("", response_model=list[MutationDoc])
def list_mutations(principal: CurrentPrincipal) -> list[MutationDoc]:
    """Every mutation, by name, with the JSON schema of its arguments."""
    return [_doc(name) for name in mutations.names()]


@router.get("/{name}", response_model=MutationDoc)
def get_mutation(name: str, principal: CurrentPrincipal) -> MutationDoc:
    """One mutation's entity and argument schema; 404 for a name the server does not know."""
    if name not in mutations.names():
        raise Problem(404, "unknown-mutation", "No such mutation", f"{name!r} is not a mutation")
    return _doc(name)


def _checker(name: str, args_type: type[MutationArgs]) -> Callable[..., CheckedArgs]:
    """An endpoint whose body is ``args_type``, so ``/docs`` shows that class for ``name``."""

    def check(args: MutationArgs, principal: CurrentPrincipal) -> CheckedArgs:
        return CheckedArgs(mutation=name, args=args.to_json())

    # FastAPI reads the body's type from the signature; each mutation gets its own class.
    check.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("args", inspect.Parameter.KEYWORD_ONLY, annotation=args_type),
            inspect.Parameter(
                "principal", inspect.Parameter.KEYWORD_ONLY, annotation=CurrentPrincipal
            ),
        ]
    )
    check.__name__ = f"check_{name.replace('.', '_')}"
    return check


for _name, _args_type in mutations.args_types().items():
    router.add_api_route(
        f"/{_name}/check",
        _checker(_name, _args_type),
        methods=["POST"],
        response_model=CheckedArgs,
        summary=f"Check {_name} arguments",
        description=(
            f"Parse the arguments of `{_name}` as a push would, without applying them. "
            "A refusal is the same 400 problem an invalid request gets, naming the field."
        ),
    )
