"""Connects one account through the sandbox as a browser would (authorize, start, the
sandbox's consent page, callback) and prints the new integration's id, so that the contract
test reaches the operations on an existing integration with a real id.

Usage: seed.py BASE_URL USER_JWT
"""

import sys
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests


def main(base: str, jwt: str) -> str:
    browser = requests.Session()
    authorized = requests.post(
        f"{base}/api/v1/integrations/google/authorize",
        headers={"Authorization": f"Bearer {jwt}"},
        json={"return_to": f"{base}/"},
        timeout=10,
    )
    authorized.raise_for_status()
    to_provider = browser.get(authorized.json()["start_url"], allow_redirects=False, timeout=10)
    assert to_provider.status_code == 302, to_provider.text
    authorize = urlsplit(to_provider.headers["Location"])
    params = dict(parse_qsl(authorize.query))
    scopes = params.pop("scope").split(" ")
    form = list(params.items()) + [
        ("requested_scope", " ".join(scopes)),
        ("username", "alice"),
        ("decision", "allow"),
    ] + [("scope", s) for s in scopes]
    consent_url = urlunsplit(authorize._replace(query=""))
    back = browser.post(consent_url, data=form, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    done = browser.get(back.headers["Location"], allow_redirects=False, timeout=10)
    assert done.status_code == 302, done.text
    outcome = dict(parse_qsl(urlsplit(done.headers["Location"]).query))
    assert outcome.get("outcome") == "connected", outcome
    return outcome["integration_id"]


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))
