"""Writes the vocabulary.json that CTranslate2 needs beside a Whisper model.bin: the tokens of
tokenizer.json in id order, then the 1,501 timestamp tokens <|0.00|> ... <|30.00|>."""

import json
import sys


def main() -> int:
    tokenizer_json, out = sys.argv[1], sys.argv[2]
    with open(tokenizer_json, encoding="utf-8") as f:
        tok = json.load(f)
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    for added in tok.get("added_tokens", []):
        by_id[added["id"]] = added["content"]
    ts_begin = next((i + 1 for i, t in by_id.items() if t == "<|notimestamps|>"), None)
    if ts_begin is None:
        raise SystemExit("no <|notimestamps|> token")
    tokens = []
    for i in range(ts_begin + 1501):
        if i in by_id:
            tokens.append(by_id[i])
        elif i >= ts_begin:
            tokens.append(f"<|{(i - ts_begin) * 0.02:.2f}|>")
        else:
            raise SystemExit(f"no token for id {i}")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
