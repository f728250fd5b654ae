#!/usr/bin/env bash
# Installs everything the test suite needs beyond scripts/install.sh: real peers and real data.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
"$here/install.sh"

# sox: reference G.711 conversion and DTMF tone generation in tests.
# asterisk-core-sounds-en-wav + asterisk-core-sounds-en: 563 human telephone prompts with transcripts
#   (DTMF talk-off, later ASR accuracy).
apt_install sox asterisk-core-sounds-en-wav asterisk-core-sounds-en
