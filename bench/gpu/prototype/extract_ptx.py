#!/usr/bin/env python3
# Extracts the PTX from a gpu.binary produced with cubin-format=isa.
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'#gpu\.object<#nvvm\.target<[^>]*>(?:, properties = \{[^}]*\})?, "((?:[^"\\]|\\.)*)">', t, re.S)
if not m:
    m = re.search(r'"(//\s*\n?.*?)"', t, re.S)
s = m.group(1)
out = bytearray(); i = 0
while i < len(s):
    if s[i] == '\\':
        h = s[i+1:i+3]
        if h == '\\\\'[:2] and False: pass
        if s[i+1] == '\\': out += b'\\'; i += 2; continue
        if s[i+1] == '"': out += b'"'; i += 2; continue
        out.append(int(h, 16)); i += 3
    else:
        out += s[i].encode(); i += 1
open(sys.argv[2], 'wb').write(bytes(out).rstrip(b'\0'))
