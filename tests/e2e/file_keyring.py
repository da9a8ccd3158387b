"""A keyring for end-to-end tests only: keyrings.cryptfile's encrypted file in the test's dir.

CI machines are headless and have no OS keyring. The desktop process and the
test must share the AMI secret, the remembered agent password and the cache
key the way a site's OS keyring would let them, so the end-to-end test points
``PYTHON_KEYRING_BACKEND`` at this class: the real encrypted file backend
agentdesk allows on a headless box, with its file and master password taken
from the environment instead of a prompt. Never used outside tests.
"""

from __future__ import annotations

import os

from keyrings.cryptfile.cryptfile import CryptFileKeyring

ENV = "AGENTDESK_TEST_KEYRING"  # path of the encrypted keyring file
PASSWORD_ENV = "AGENTDESK_TEST_KEYRING_PASSWORD"


class E2eCryptFileKeyring(CryptFileKeyring):  # type: ignore[misc]
    """CryptFileKeyring at ``$AGENTDESK_TEST_KEYRING``, unlocked by an environment variable."""

    @property
    def file_path(self) -> str:
        return os.environ[ENV]

    @property
    def keyring_key(self) -> str:
        return os.environ[PASSWORD_ENV]

    @keyring_key.setter
    def keyring_key(self, value: str) -> None:
        pass  # the password comes from the environment only
