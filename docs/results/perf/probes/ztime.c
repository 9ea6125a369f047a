/* ztime.c - a probe behind docs/PERFORMANCE.md ("Loading MNIST: huge pages"):
 * zlib's inflate of the given .gz files into a 64 KiB buffer, then malloc and
 * a first write of the same bytes plus 4x as many floats (what the loader does).
 *   cc -O2 ztime.c -o ztime -lz && ./ztime the four MNIST .gz files */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  double t0=now(); size_t total=0;
  static unsigned char buf[1<<16];
  for(int i=1;i<argc;i++){gzFile f=gzopen(argv[i],"rb");gzbuffer(f,1<<18);int n;while((n=gzread(f,buf,sizeof buf))>0) total+=n;gzclose(f);}
  double t1=now();
  /* touch fresh memory like the loader: 55MB bytes + 4x floats */
  size_t nb=total; unsigned char*b=malloc(nb); float*fl=malloc(nb*4);
  memset(b,1,nb); for(size_t i=0;i<nb;i++) fl[i]=b[i]/255.0f;
  double t2=now();
  printf("zlib inflate to small buffer: %.3f s (%zu bytes); fault+convert fresh memory: %.3f s %f\n",t1-t0,total,t2-t1,fl[nb/2]);
}
