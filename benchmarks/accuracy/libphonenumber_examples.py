#!/usr/bin/env python3
"""Every region's example numbers from libphonenumber's metadata (the `phonenumbers` package:
public material nobody here wrote), each type (fixed line, mobile, toll free, ...) formatted by
libphonenumber in E.164 and INTERNATIONAL form for every region and non-geographic entity, and in
NATIONAL form for the regions given, each in a neutral sentence, in the evaluate.py format.

Usage: python3 libphonenumber_examples.py US,CA,GB,JP,DE,FR,IN,AU,BR [OUTDIR]
writes OUTDIR/lpn_intl.jsonl and OUTDIR/lpn_national.jsonl (default OUTDIR /tmp/accuracy-public).
"""
import json, sys, phonenumbers as p
from phonenumbers import PhoneNumberType as T, PhoneNumberFormat as F
regions=set(sys.argv[1].split(','))
types=[T.FIXED_LINE,T.MOBILE,T.TOLL_FREE,T.PREMIUM_RATE,T.SHARED_COST,T.VOIP,T.PERSONAL_NUMBER,T.UAN,T.PAGER,T.VOICEMAIL]
tpl=["Please call {} today.","Tel: {}","{}","Contact: {} (office)","Reach us on {}, thanks."]
import os
outdir=sys.argv[2] if len(sys.argv)>2 else '/tmp/accuracy-public'
os.makedirs(outdir,exist_ok=True)
out={k:open(os.path.join(outdir,f'lpn_{k}.jsonl'),'w') for k in ['intl','national']}
n=0
for r in sorted(p.SUPPORTED_REGIONS):
    for t in types:
        x=p.example_number_for_type(r,t)
        if x is None: continue
        for kind,fmt in [('intl',F.E164),('intl',F.INTERNATIONAL),('national',F.NATIONAL)]:
            if kind=='national' and r not in regions: continue
            s=p.format_number(x,fmt)
            text=tpl[n%len(tpl)].format(s); st=text.index(s)
            out[kind].write(json.dumps({"id":n,"text":text,"spans":[{"start":st,"end":st+len(s),"type":"PHONE"}]})+"\n"); n+=1
for c in p.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
    x=p.example_number_for_non_geo_entity(c)
    if x is None: continue
    for fmt in [F.E164,F.INTERNATIONAL]:
        s=p.format_number(x,fmt); text=tpl[n%len(tpl)].format(s); st=text.index(s)
        out['intl'].write(json.dumps({"id":n,"text":text,"spans":[{"start":st,"end":st+len(s),"type":"PHONE"}]})+"\n"); n+=1
print(n)
