#!/usr/bin/env bash
# Installs everything the test suite needs beyond scripts/install.sh: real peers and real data.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
"$here/install.sh"

# sox: reference G.711 conversion and DTMF tone generation in tests.
# asterisk-core-sounds-en-wav + asterisk-core-sounds-en: 563 human telephone prompts with transcripts
#   (DTMF talk-off, later ASR accuracy).
apt_install sox asterisk-core-sounds-en-wav asterisk-core-sounds-en

# Python peers, in a project-local virtual environment (.venv-test, git-ignored):
# streamdouble: a Twilio Media Streams client simulator, the real peer for /media/twilio.
venv="$here/../.venv-test"
if [ ! -x "$venv/bin/python" ]; then
  # Debian's own python3 needs python3-venv for this; other Pythons carry venv.
  python3 -m venv "$venv" 2>/dev/null || { rm -rf "$venv"; apt_install python3-venv; python3 -m venv "$venv"; }
fi
pip_pkgs=(streamdouble==0.3.0)
if ! "$venv/bin/python" -m pip show -q "${pip_pkgs[@]%%==*}" >/dev/null 2>&1; then
  echo "installing Python test peers: ${pip_pkgs[*]}" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pip_pkgs[@]}" || {
    echo "error: pip could not install ${pip_pkgs[*]}; check that the Python package index is reachable" >&2; exit 1; }
fi

# SIP peers for tests/sip_*.rs (issue "Telephony"), none written by this team:
# sip-tester (sipp): caller/callee scenarios, RTP streaming, RFC 4733 by pcap replay, load;
# baresip-core: a headless softphone that plays a WAV and records the far end;
# kamailio: a SIP proxy (dispatcher) in front of two gateway instances.
apt_install sip-tester baresip-core kamailio
# pjsua2-python: PJSIP's Python binding, a third SIP stack (play/record, dialDtmf).
if ! "$venv/bin/python" -c 'import pjsua2' >/dev/null 2>&1; then
  echo "installing Python SIP peer: pjsua2-python" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check pjsua2-python==2.15.1.post1 || {
    echo "error: pip could not install pjsua2-python; check that the Python package index is reachable" >&2; exit 1; }
fi
