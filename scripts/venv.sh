#!/usr/bin/env bash
# This checkout's Python environment (called by setup.sh). The dependencies (torch is several GB) live in one
# virtualenv under ${GRAPHFRAUD_CACHE:-~/.cache/graphfraud}, keyed by pyproject.toml and shared by every checkout;
# each checkout gets its own small .venv on top of it that holds only graphfraud itself, installed editable from the
# checkout, so two checkouts (a deployed one and a newer clone) never run each other's code.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CACHE=${GRAPHFRAUD_CACHE:-$HOME/.cache/graphfraud}
KEY=$(cat pyproject.toml | sha256sum | cut -c1-12)
VENV="$CACHE/venv-$KEY"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  echo "==> creating virtualenv $VENV (torch is large: a few minutes the first time)"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[test]'
  touch "$VENV/.complete"
fi
# graphfraud itself never lives in the shared virtualenv (earlier setups put an editable install there, owned by
# whichever checkout ran setup last): only its dependencies.
"$VENV/bin/pip" uninstall -q -y graphfraud >/dev/null 2>&1 || true

# This checkout's .venv: the shared site-packages through a .pth file, graphfraud installed editable from here, and
# the shared virtualenv's commands (pytest, torchrun ...) run by this .venv's interpreter.
[ -L .venv ] && rm .venv  # the earlier layout: .venv was a link to the shared virtualenv
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.shared 2>/dev/null)" != "$VENV" ]; then
  rm -rf .venv
  "$VENV/bin/python" -m venv --without-pip .venv
  site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
  echo "import site; site.addsitedir('$(site_of "$VENV/bin/python")')" > "$(site_of .venv/bin/python)/_graphfraud_shared.pth"
  echo "$VENV" > .venv/.shared
fi
if ! out=$(.venv/bin/python -m pip install -q --no-deps -e . 2>&1); then  # quiet unless it fails
  echo "$out" >&2
  exit 1
fi
for cmd in "$VENV"/bin/*; do
  name=$(basename "$cmd")
  [ -e ".venv/bin/$name" ] || [ -L "$cmd" ] && continue
  case "$(head -n 1 "$cmd" 2>/dev/null | cut -c 1-300 | tr -d '\0')" in
    "#!$VENV/bin/python"*) { echo "#!$PWD/.venv/bin/python"; tail -n +2 "$cmd"; } > ".venv/bin/$name"
                           chmod +x ".venv/bin/$name" ;;
  esac
done

