"""Writes src/Model/Tokenizers/UnicodeNfc.txt, the Unicode data UnicodeNfc.cs composes text with (Qwen2's NFC normalizer).

The engine runs with InvariantGlobalization, under which string.Normalize leaves non-ASCII text unchanged, so NFC is
computed from this table. Run from the repository root: python3 tools/codegen/unicode_nfc.py
Lines: "D cp parts..." a canonical decomposition (one level), "C cp ccc" a non-zero canonical combining class, "P a b
composite" a primary composite (a pair whose composition NFC makes: a decomposition of two that NFC gives back, so
composition exclusions and singletons are left out). Hangul syllables are computed, not listed. Hex code points.
"""
import sys
import unicodedata

lines = [f"# Unicode {unicodedata.unidata_version} (Python unicodedata), written by tools/codegen/unicode_nfc.py"]
for cp in range(sys.maxunicode + 1):
    if 0xAC00 <= cp <= 0xD7A3 or 0xD800 <= cp <= 0xDFFF:
        continue
    char = chr(cp)
    decomposition = unicodedata.decomposition(char)
    if decomposition and not decomposition.startswith("<"):
        parts = decomposition.split()
        lines.append(f"D {cp:X} {' '.join(parts)}")
        pair = "".join(chr(int(p, 16)) for p in parts)
        if len(parts) == 2 and unicodedata.normalize("NFC", pair) == char:
            lines.append(f"P {parts[0]} {parts[1]} {cp:X}")
    if unicodedata.combining(char):
        lines.append(f"C {cp:X} {unicodedata.combining(char)}")
with open("src/Model/Tokenizers/UnicodeNfc.txt", "w", encoding="ascii") as f:
    f.write("\n".join(lines) + "\n")
