/* placeholder, replaced by the eval work */
#ifndef VOXTRACK_EVAL_H
#define VOXTRACK_EVAL_H
#endif
