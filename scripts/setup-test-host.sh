#!/usr/bin/env bash
# Prepares this machine for the test suite (run as root; CI runs it from .ci/run):
# the system packages the real peers need, and the plain test users that the
# sudo / su / doas / ssh tests log in as. Safe to run again.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup-test-host: run as root (it installs packages and creates users)" >&2
  exit 1
fi

need=()
for cmd in sudo busybox doas sshd dockerd ssh-keygen ssh-agent sftp runuser script curl debootstrap podman gpg dpkg-scanpackages git; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
# pip.venv's tests run the system python3's venv module (over ssh, as a test user).
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup-test-host: installing system packages (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    sudo busybox-static opendoas openssh-server openssh-client docker.io util-linux bsdutils procps \
    curl ca-certificates debootstrap debian-archive-keyring podman gnupg dpkg-dev git python3-venv >/dev/null
fi

# Test users. Passwords are test-only and known to the fixtures in @infra/connector-testkit.
make_user() { # name password
  id "$1" >/dev/null 2>&1 || useradd -m -s /bin/sh "$1"
  echo "$1:$2" | chpasswd
}
make_user infra-plain infra-plain-pw
make_user infra-sudo infra-sudo-pw
make_user infra-sudopw infra-sudopw-pw

echo 'infra-sudo ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/infra-sudo
echo 'infra-sudopw ALL=(ALL) ALL' > /etc/sudoers.d/infra-sudopw
chmod 440 /etc/sudoers.d/infra-sudo /etc/sudoers.d/infra-sudopw
rm -f /etc/sudoers.d/infra-sudopw.tmp

cat > /etc/doas.conf <<'DOAS'
permit nopass keepenv root
permit nopass infra-sudo
DOAS
chmod 600 /etc/doas.conf
mkdir -p /run/sshd
echo "setup-test-host: ready (users infra-plain, infra-sudo, infra-sudopw)"
