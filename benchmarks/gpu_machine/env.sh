# Sourced on the GPU machine from the repository root: unpacks the bundle that prepare.sh made
# (BUNDLE, default .device) under BUNDLE_PREFIX and exports PYTHONPATH, LD_LIBRARY_PATH and
# RAPID_EDGE_DATA. Of the Debian libraries only those the image lacks are put on the library path,
# so none of them shadows the image's own.
bundle=${BUNDLE:-.device}
prefix=${BUNDLE_PREFIX:-/tmp/rapid-edge-bundle}
[ -f "$bundle/site.tar.xz" ] || { echo "env.sh: no $bundle/site.tar.xz (run prepare.sh and carry $bundle)" >&2; return 1; }
mkdir -p "$prefix/site" "$prefix/debs" "$prefix/lib"
if [ ! -f "$prefix/.unpacked" ]; then  # once per machine: a second command reuses it
  tar -xJf "$bundle/site.tar.xz" -C "$prefix/site" || return 1
  for deb in "$bundle"/debs/*.deb; do dpkg -x "$deb" "$prefix/debs" || return 1; done
  touch "$prefix/.unpacked"
fi
for _ in 1 2 3 4 5; do  # each round adds what the last one's libraries need
  missing=$(LD_LIBRARY_PATH="$prefix/lib" ldd "$prefix"/site/open3d/libOpen3D.so.* | awk '/not found/{print $1}')
  [ -z "$missing" ] && break
  for so in $missing; do
    found=$(find "$prefix/debs" -name "$so" | head -n 1)
    [ -n "$found" ] || { echo "env.sh: open3d needs $so, which neither the image nor the bundle has" >&2; return 1; }
    cp -L "$found" "$prefix/lib/"
  done
done
export PYTHONPATH="$prefix/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RAPID_EDGE_DATA="$PWD/$bundle/data"
