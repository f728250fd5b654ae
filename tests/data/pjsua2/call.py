"""One call with PJSUA2 (PJSIP's Python binding), a SIP stack nobody on the frontdesk team wrote.

usage: call.py URI CALLER.wav RECORD.wav SECONDS DIGITS

Calls URI over UDP on 127.0.0.1 with no sound device, plays CALLER.wav into the call, records
what the far end sends to RECORD.wav, sends DIGITS as RFC 4733 events (call.dialDtmf) one
second before the end, then hangs up. Exit 0 when the call was confirmed and ended.
"""
import sys
import time

import pjsua2 as pj

uri, caller, record, seconds, digits = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]


class Call(pj.Call):
    def __init__(self, acc):
        super().__init__(acc)
        self.confirmed = False
        self.ended = False
        self.player = None
        self.recorder = None

    def onCallState(self, prm):
        ci = self.getInfo()
        print("state", ci.stateText, ci.lastStatusCode, flush=True)
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed = True
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.ended = True

    def onCallMediaState(self, prm):
        try:
            self.connect_media()
        except Exception as e:  # callbacks swallow exceptions: say it
            print("media error:", e, flush=True)

    def connect_media(self):
        # getInfo().media reads back garbage in this binding; -1 picks the first active audio.
        am = self.getAudioMedia(-1)
        if self.player is None:
            self.player = pj.AudioMediaPlayer()
            self.player.createPlayer(caller, pj.PJMEDIA_FILE_NO_LOOP)
            self.player.startTransmit(am)
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(record)
            am.startTransmit(self.recorder)


ep = pj.Endpoint()
ep.libCreate()
cfg = pj.EpConfig()
cfg.uaConfig.threadCnt = 0
cfg.uaConfig.mainThreadOnly = True
cfg.logConfig.level = 2
cfg.logConfig.consoleLevel = 2
cfg.medConfig.noVad = True
# A fixed 80 ms jitter buffer: an adaptive one grows its delay during the call, which warps the
# recording in time against the prompt it is compared with.
cfg.medConfig.jbInit = 80
cfg.medConfig.jbMinPre = 80
cfg.medConfig.jbMaxPre = 80
cfg.medConfig.jbMax = 1000
cfg.medConfig.clockRate = 8000
cfg.medConfig.sndClockRate = 8000
ep.libInit(cfg)
tcfg = pj.TransportConfig()
tcfg.boundAddress = "127.0.0.1"
tcfg.port = 0
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
ep.libStart()
ep.audDevManager().setNullDev()
for c in ep.codecEnum2():
    # G.711 only: what the gateway's echo path and the test's envelope comparison expect.
    ep.codecSetPriority(c.codecId, 255 if c.codecId.startswith(("PCMU", "PCMA")) else 0)

acfg = pj.AccountConfig()
acfg.idUri = "sip:pjsua2@127.0.0.1"
acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
acc = pj.Account()
acc.create(acfg)

call = Call(acc)
call.makeCall(uri, pj.CallOpParam(True))


def pump(until):
    while time.monotonic() < until and not call.ended:
        ep.libHandleEvents(10)


deadline = time.monotonic() + 10
while not call.confirmed and not call.ended and time.monotonic() < deadline:
    ep.libHandleEvents(10)
if not call.confirmed:
    print("call was not answered", flush=True)
    sys.exit(1)
start = time.monotonic()
pump(start + seconds - 1.0)
if digits:
    call.dialDtmf(digits)
pump(start + seconds)
if not call.ended:
    call.hangup(pj.CallOpParam(True))
pump(time.monotonic() + 3)
ok = call.ended
call.recorder = None
call.player = None
del call
ep.libDestroy()
print("ended" if ok else "did not end", flush=True)
sys.exit(0 if ok else 1)
