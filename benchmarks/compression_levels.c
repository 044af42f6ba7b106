// Compression speed and size of each gzip engine and level on one file, one thread, in 2 MiB
// chunks as mask compresses them (the table in README.md, "Compression levels"), plus the cost of
// the block walk that makes libdeflate's output a non-final span (--gzip-members single).
//
//   cc -O2 -o /tmp/levels benchmarks/compression_levels.c -ldeflate -lisal -lz
//   /tmp/levels benchmarks/data/<the CSV bench.py generated>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdeflate.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  FILE*f=fopen(argv[1],"rb");fseek(f,0,SEEK_END);long n=ftell(f);fseek(f,0,SEEK_SET);
  unsigned char*in=malloc(n);fread(in,1,n,f);fclose(f);
  size_t C=2<<20; unsigned char*out=malloc(C*2+1000);
  for(int lvl=1;lvl<=9;lvl++){ struct libdeflate_compressor*c=libdeflate_alloc_compressor(lvl);
    double t=now(); size_t tot=0; for(long o=0;o<n;o+=C){size_t k=n-o<C?n-o:C; tot+=libdeflate_deflate_compress(c,in+o,k,out,C*2);} 
    printf("libdeflate %d: %.2fs %.1fMB\n",lvl,now()-t,tot/1e6); libdeflate_free_compressor(c);}
  for(int lvl=0;lvl<=3;lvl++){ struct isal_zstream s; size_t bs= lvl==0?0: lvl==1?ISAL_DEF_LVL1_LARGE: lvl==2?ISAL_DEF_LVL2_LARGE:ISAL_DEF_LVL3_LARGE; unsigned char*lb=malloc(bs+1);
    double t=now(); size_t tot=0; for(long o=0;o<n;o+=C){size_t k=n-o<C?n-o:C; isal_deflate_init(&s); s.level=lvl; s.level_buf=lb; s.level_buf_size=bs; s.flush=SYNC_FLUSH; s.end_of_stream=0; s.next_in=in+o; s.avail_in=k; s.next_out=out; s.avail_out=C*2; int r=isal_deflate(&s); if(r) {printf("err %d\n",r);} tot+=s.total_out;}
    printf("isal %d: %.2fs %.1fMB\n",lvl,now()-t,tot/1e6);}
  { double t=now(); size_t tot=0; z_stream z; memset(&z,0,sizeof z); deflateInit2(&z,6,Z_DEFLATED,-15,8,Z_DEFAULT_STRATEGY);
    for(long o=0;o<n;o+=C){size_t k=n-o<C?n-o:C; deflateReset(&z); z.next_in=in+o; z.avail_in=k; z.next_out=out; z.avail_out=C*2; deflate(&z,Z_SYNC_FLUSH); tot+=z.total_out;}
    printf("zlib 6: %.2fs %.1fMB\n",now()-t,tot/1e6);}
  { struct libdeflate_compressor*c=libdeflate_alloc_compressor(6); size_t tot=0; double tw=0; z_stream z; memset(&z,0,sizeof z); inflateInit2(&z,-15); unsigned char*sink=malloc(C+100000);
    for(long o=0;o<n;o+=C){size_t k=n-o<C?n-o:C; size_t m=libdeflate_deflate_compress(c,in+o,k,out,C*2); double t=now(); inflateReset(&z); z.next_in=out; z.avail_in=m; int blocks=0;
      for(;;){ z.next_out=sink; z.avail_out=C+100000; int r=inflate(&z,Z_BLOCK); if(r==Z_STREAM_END)break; if(r!=Z_OK){printf("r=%d\n",r);break;} if(z.data_type&128) blocks++; }
      tw+=now()-t; tot+=m;}
    printf("zlib Z_BLOCK walk of libdeflate-6 output: %.2fs\n",tw);}
}
