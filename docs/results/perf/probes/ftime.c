/* ftime.c - a probe behind docs/PERFORMANCE.md ("Loading MNIST: huge pages"):
 * 220 MB written for the first time after malloc, after a 2 MiB-aligned
 * allocation advised MADV_HUGEPAGE, and after mmap(MAP_POPULATE).
 *   cc -O2 ftime.c -o ftime && ./ftime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(){
  size_t n=220u<<20;
  double t0=now(); char*a=malloc(n); memset(a,1,n); double t1=now();
  char*b=NULL; posix_memalign((void**)&b,2u<<20,n); madvise(b,n,MADV_HUGEPAGE); memset(b,1,n); double t2=now();
  char*c=mmap(NULL,n,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE,-1,0); double t3=now(); memset(c,1,n); double t4=now();
  printf("malloc+touch %.3f  hugepage-advised %.3f  populate %.3f + touch %.3f  %d%d%d\n",t1-t0,t2-t1,t3-t2,t4-t3,a[5],b[5],c[5]);
}
