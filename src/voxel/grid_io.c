/* placeholder: being written */
typedef int vt__placeholder_grid_io;
