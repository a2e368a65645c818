# Sourced by the test scripts that need Debian packages (test/interop/run.sh,
# test/interop/clients.sh, test/proxy/run.sh, test/scale/run.sh). CI runs them as root on a fresh
# machine, so a missing package is installed (apt-get update first); anyone else gets a clear
# failure with the closing line CI reads.
#
#   apt_need_install NAME PACKAGE...
#     Installs the PACKAGEs (none given: does nothing). Not root: prints "NAME: need root to
#     install: PACKAGE..." (or $APT_NEED_ROOT_MESSAGE) to stderr, "0 passed, 1 failed", and exits 1.
#     When postfix is among them it is preseeded with "No configuration": the tests run their
#     own private instances. APT_NEED_NO_DAEMONS=1: no package may start a system-wide daemon
#     during the install (a temporary policy-rc.d), for the same reason.
apt_need_install() {
  local name="$1"
  shift
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "${APT_NEED_ROOT_MESSAGE:-$name: need root to install: $*}" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "$name: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  local p
  for p in "$@"; do
    if [ "$p" = postfix ]; then
      echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    fi
  done
  apt-get update -qq
  local own_policy=0
  if [ "${APT_NEED_NO_DAEMONS:-0}" = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

# Adds to the caller's `need` array what a private Postfix with Cyrus SASL needs (interop and
# clients): Postfix itself, saslpasswd2 and the SASL modules.
apt_need_postfix() {
  command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || need+=(postfix)
  [ -x /usr/sbin/saslpasswd2 ] || need+=(sasl2-bin)
  dpkg -s libsasl2-modules >/dev/null 2>&1 || need+=(libsasl2-modules)
  dpkg -s libsasl2-modules-db >/dev/null 2>&1 || need+=(libsasl2-modules-db)
}
