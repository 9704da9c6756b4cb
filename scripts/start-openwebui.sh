#!/usr/bin/env bash
# Starts the deterministic model upstream and a real OpenWebUI 0.12.4 (fresh data folder) for trying the
# bridge by hand, prints the URL and credentials, and stops both on Ctrl-C.
# Needs scripts/install-openwebui.sh to have run. Runs from the checkout's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
exec "$PY" - <<'PYEOF'
import signal
import sys
import threading

from simulators.model_upstream import ModelUpstream
from simulators.openwebui_server import OpenWebUIUnavailable, RealOpenWebUI

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
upstream = ModelUpstream()
try:
    with upstream.running_in_thread(), RealOpenWebUI(upstream.base_url) as owui:
        print(f"OpenWebUI       {owui.base_url}  (log: {owui.log_path})")
        print(f"admin           {owui.admin_email} / {owui.admin_password}")
        print(f"API key         {owui.api_key}")
        print(f"model upstream  {upstream.base_url}  (models: {', '.join(m.id for m in upstream.models)})")
        print(f"try: OPENWEBUI_URL={owui.base_url} OPENWEBUI_API_KEY={owui.api_key} bridge chat")
        print("Ctrl-C stops both.", flush=True)
        threading.Event().wait()
except OpenWebUIUnavailable as missing:
    sys.exit(str(missing))
except KeyboardInterrupt:
    pass
PYEOF
