#!/usr/bin/env bash
# A CI job that starts a PowerSync Service for end-to-end tests and needs a client token.
# The signing key is created fresh for the job; nothing secret is committed.
set -euo pipefail

pskeys init --alg ES256 --json > pskeys-init.json     # config patched, key in .env (0600)
# ... start the service here (docker compose up -d, or a service container) ...
TOKEN=$(pskeys mint --sub ci-user --expires-in 30m --endpoint http://localhost:8080)
export POWERSYNC_TOKEN="$TOKEN"                      # hand it to the test client

# In a CI that stores the key as secrets instead (no .env file at all):
#   PSKEYS_KID, PSKEYS_ALG and PSKEYS_PRIVATE_KEY (or PS_CLIENT_AUTH_KEY for HMAC)
#   in the environment are enough for `pskeys mint`.
