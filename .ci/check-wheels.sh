#!/usr/bin/env bash
# Build every member's wheel with --no-sources (so the declared version ranges between siblings are
# what counts, not the workspace), then install each wheel ALONE into a brand-new venv outside the
# workspace, with only dist/ (siblings) and the package registry (third-party) to draw from, and
# import it. Proves each distribution is complete and its dependency metadata is right.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export UV_PYTHON_DOWNLOADS=never
dist="$root/dist"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$dist"
(cd "$root" && uv build --all-packages --no-sources --wheel -o "$dist" -q)
# Every build has the same file names (version 0.1.0): make uv re-read our wheels, never reuse
# a cached copy of an earlier build.
refresh=()
for wheel in "$dist"/*.whl; do
  refresh+=(--refresh-package "$(basename "$wheel" | cut -d- -f1 | tr _ -)")
done
# wheels and sdists are pure Python: the mypyc extensions `make compile` builds in place
# (and their stamps) never go in
(cd "$root" && uv build --all-packages --no-sources --sdist -o "$work/sdist" -q)
for archive in "$dist"/*.whl "$work"/sdist/*.tar.gz; do
  python3 -c 'import sys, tarfile, zipfile
path = sys.argv[1]
names = zipfile.ZipFile(path).namelist() if path.endswith(".whl") else tarfile.open(path).getnames()
bad = [n for n in names if n.endswith((".so", ".pyd", ".mypyc-stamp"))]
sys.exit(f"{path} holds compiled files: {bad}" if bad else 0)' "$archive"
done
count=0
for wheel in "$dist"/*.whl; do
  name="$(basename "$wheel" | cut -d- -f1)"          # e.g. mqk_risk
  venv="$work/$name"
  (cd "$work" && uv venv -q --python python3.11 "$venv")
  (cd "$work" && uv pip install -q "${refresh[@]}" --python "$venv/bin/python" --find-links "$dist" "$wheel")
  installed="$(cd "$work" && uv pip list --python "$venv/bin/python" 2>/dev/null | awk '/^mqk-/{print $1}' | tr '\n' ' ')"
  (cd "$work" && "$venv/bin/python" -c "import $name, sys; assert $name.__version__; assert hasattr($name, '__all__')")
  if [ "$name" = "mqk_cli" ]; then "$venv/bin/mqk-cli" --version >/dev/null; fi
  echo "wheel ok: $(basename "$wheel")  (alone in a fresh venv with: $installed)"
  count=$((count + 1))
done
expected=13
if [ "$count" -ne "$expected" ]; then
  echo "expected $expected wheels, built $count" >&2
  exit 1
fi
echo "wheels: $count built with --no-sources, each installed alone and imported"
