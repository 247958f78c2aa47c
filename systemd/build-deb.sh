#!/usr/bin/env bash
# Builds the Debian package .build/deb/chainvault_<version>_<arch>.deb from the static build
# (the Swift runtime linked in, so the server needs no toolchain), with dpkg-deb only: no
# debhelper, so that one command on a plain Debian 12 with Swift builds it.
# Layout: /usr/bin/chainvault (stripped, as dh_strip does), the units in /usr/lib/systemd/system,
# sysusers.d and tmpfiles.d snippets in /usr/lib, the policies in /usr/share/chainvault/policies,
# the example config /etc/chainvault/chainvault.json as a conffile. Maintainer scripts create the
# user and directories and reload systemd but never start or enable anything.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/static/release/chainvault
if [ ! -x "$binary" ]; then
    swift build -c release --static-swift-stdlib --build-path .build/static
fi
version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
out=.build/deb
root=$(mktemp -d "${TMPDIR:-/tmp}/chainvault-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
pkg=$root/pkg
mkdir -p "$pkg/DEBIAN" "$out"

# Files: owned by root (--root-owner-group), modes set here explicitly.
install -D -m 0755 "$binary" "$pkg/usr/bin/chainvault"
# Debian strips binaries (dh_strip); Swift keeps its reflection metadata in allocated sections,
# which strip leaves in place (the test runs the stripped binary).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/chainvault"
for unit in chainvault.service chainvault-restore@.service chainvault-hook.socket chainvault-hook@.service; do
    install -D -m 0644 "systemd/$unit" "$pkg/usr/lib/systemd/system/$unit"
done
install -D -m 0644 systemd/chainvault.sysusers.conf "$pkg/usr/lib/sysusers.d/chainvault.conf"
install -D -m 0644 systemd/chainvault.tmpfiles.conf "$pkg/usr/lib/tmpfiles.d/chainvault.conf"
install -d -m 0755 "$pkg/usr/share/chainvault/policies" "$pkg/usr/share/chainvault/monitoring"
install -m 0644 Policies/*.json "$pkg/usr/share/chainvault/policies/"
install -m 0644 systemd/monitoring/* "$pkg/usr/share/chainvault/monitoring/"
install -D -m 0644 systemd/debian/chainvault.json "$pkg/etc/chainvault/chainvault.json"
install -D -m 0644 systemd/debian/copyright "$pkg/usr/share/doc/chainvault/copyright"
# The man page and completions come from the binary's own command table (what --help prints).
install -d -m 0755 "$pkg/usr/share/man/man1" "$pkg/usr/share/bash-completion/completions" \
    "$pkg/usr/share/zsh/vendor-completions"
"$binary" man | gzip -9n > "$pkg/usr/share/man/man1/chainvault.1.gz"
"$binary" completion bash > "$pkg/usr/share/bash-completion/completions/chainvault"
"$binary" completion zsh > "$pkg/usr/share/zsh/vendor-completions/_chainvault"
chmod 0644 "$pkg/usr/share/man/man1/chainvault.1.gz" "$pkg/usr/share/bash-completion/completions/chainvault" \
    "$pkg/usr/share/zsh/vendor-completions/_chainvault"
sed "s/@VERSION@/$version/; s/@DATE@/$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")/" \
    systemd/debian/changelog | gzip -9n > "$pkg/usr/share/doc/chainvault/changelog.gz"
chmod 0644 "$pkg/usr/share/doc/chainvault/changelog.gz"
for script in postinst prerm postrm; do install -m 0755 "systemd/debian/$script" "$pkg/DEBIAN/$script"; done
echo /etc/chainvault/chainvault.json > "$pkg/DEBIAN/conffiles"

# Depends: what dpkg-shlibdeps derives from the binary's NEEDED entries and the shlibs/symbols
# files of the installed libraries (versioned, e.g. libc6 (>= 2.34)).
mkdir -p "$root/src/debian"
printf 'Source: chainvault\n\nPackage: chainvault\nArchitecture: any\n' > "$root/src/debian/control"
depends=$(cd "$root/src" && dpkg-shlibdeps -O -e "$pkg/usr/bin/chainvault" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s --exclude=DEBIAN "$pkg" | cut -f1)
sed "s/@VERSION@/$version/; s/@ARCH@/$arch/; s/@DEPENDS@/$depends/; s/@SIZE@/$size/" systemd/debian/control \
    > "$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums" "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles"
deb="$out/chainvault_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
