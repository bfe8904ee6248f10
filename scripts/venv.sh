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
  "$VENV/bin/pip" uninstall -q -y graphfraud  # only its dependencies stay: graphfraud goes into each .venv
  touch "$VENV/.complete"
fi
# (A shared virtualenv made by an earlier setup still holds an editable graphfraud that a checkout with the earlier
# layout, .venv linked to it, runs: it is left alone. A .venv of this layout reads its own editable install's .pth
# before the shared site-packages', so its own code wins.)

# This checkout's .venv: the shared site-packages through a .pth file, graphfraud installed editable from here, and
# the shared virtualenv's commands (pytest, torchrun ...) as wrappers run by this .venv's interpreter.
SHARED="$VENV $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')"
[ -L .venv ] && rm .venv  # the earlier layout: .venv was a link to the shared virtualenv
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.shared 2>/dev/null)" != "$SHARED" ]; then
  rm -rf .venv
  "$VENV/bin/python" -m venv --without-pip .venv
  site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
  echo "import site; site.addsitedir('$(site_of "$VENV/bin/python")')" > "$(site_of .venv/bin/python)/_graphfraud_shared.pth"
  echo "$SHARED" > .venv/.shared
fi
if ! out=$(.venv/bin/python -m pip install -q --no-deps -e . 2>&1); then  # quiet unless it fails
  echo "$out" >&2
  exit 1
fi
MARK="# graphfraud venv.sh wrapper"
for cmd in "$VENV"/bin/*; do
  name=$(basename "$cmd")
  own=".venv/bin/$name"
  [ -L "$cmd" ] && continue  # python, python3 ...
  [ -f "$cmd" ] || continue  # __pycache__ (pyspark puts a .py script there)
  [ -e "$own" ] && ! grep -qsF "$MARK" "$own" && continue  # .venv's own (python, graphfraud)
  first=$(head -n 2 "$cmd" 2>/dev/null | tr -d '\0' | cut -c 1-300 | tr '\n' ' ')
  case "$first" in  # a Python script pip wrote: "#!<venv python>" or, for long paths, "#!/bin/sh" + "'''exec' ..."
    "#!$VENV/bin/python"* | "#!/bin/sh '''exec'"*)
      printf '#!/bin/sh\n%s\nexec "%s" "%s" "$@"\n' "$MARK" "$PWD/.venv/bin/python" "$cmd" > "$own.tmp"
      chmod +x "$own.tmp"
      mv "$own.tmp" "$own" ;;
  esac
done
