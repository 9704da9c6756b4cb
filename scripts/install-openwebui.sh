#!/usr/bin/env bash
# Installs a real OpenWebUI 0.12.4 into its own virtualenv, outside the checkout, for the contract suite.
# Reused when it is already there. The venv path is $OWUI_VENV (default ~/.cache/openwebui-bridge/owui-0.12.4).
set -euo pipefail
OWUI_VERSION="${OWUI_VERSION:-0.12.4}"
OWUI_VENV="${OWUI_VENV:-$HOME/.cache/openwebui-bridge/owui-$OWUI_VERSION}"
PYTHON="${PYTHON:-python3}"

if [ -x "$OWUI_VENV/bin/open-webui" ] && "$OWUI_VENV/bin/python" -c "import open_webui" 2>/dev/null; then
  echo "open-webui $OWUI_VERSION already installed in $OWUI_VENV"
  exit 0
fi
echo "installing open-webui $OWUI_VERSION into $OWUI_VENV (a few minutes the first time)"
rm -rf "$OWUI_VENV"
"$PYTHON" -m venv "$OWUI_VENV"
"$OWUI_VENV/bin/pip" install --quiet --upgrade pip
# The small CPU build of torch first; otherwise pip pulls a multi-GB CUDA build as a dependency.
"$OWUI_VENV/bin/pip" install --quiet "torch==2.13.0"
"$OWUI_VENV/bin/pip" install --quiet "open-webui==$OWUI_VERSION"
echo "open-webui $OWUI_VERSION installed in $OWUI_VENV"
