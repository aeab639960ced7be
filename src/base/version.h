/* src/base/version.h — the one place the version is written. */
#ifndef HS_VERSION_H
#define HS_VERSION_H

#define HS_VERSION "0.1.0"

#endif
