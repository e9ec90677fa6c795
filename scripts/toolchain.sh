# Sourced by the project's scripts: puts the Swift toolchain's bin directory first in PATH.
# /usr/bin/swift may be another program (Debian's python3-swiftclient installs OpenStack's
# client there), so the scripts call swift-build and swift-test from the toolchain.
if [ -d /opt/swift/usr/bin ]; then
  PATH="/opt/swift/usr/bin:$PATH"
elif command -v swiftc >/dev/null 2>&1; then
  PATH="$(dirname "$(readlink -f "$(command -v swiftc)")"):$PATH"
fi
export PATH
