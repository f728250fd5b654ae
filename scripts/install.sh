#!/usr/bin/env bash
# Installs what the gateway needs to build and run on Debian 12: system packages, then (once the
# speech engines land) the models, through `frontdesk models fetch`. Safe to run again: it only
# installs what is missing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# cmake + a C compiler: audiopus builds the bundled libopus. pkg-config for -sys crates.
# espeak-ng: phonemes for Piper TTS (called as a program, so the gateway binary stays free of GPL code).
apt_install build-essential cmake pkg-config espeak-ng ca-certificates
