#include <stdio.h>

#include "voxtrack/voxtrack.h"

int main(void)
{
    printf("voxtrack %s\n", vt_version());
    return 0;
}
