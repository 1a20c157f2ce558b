#ifndef TEM_VERSION_H
#define TEM_VERSION_H
#define TEM_VERSION "0.1.0"
#endif
