/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test shim: see apple-sdk-shim.h. */
#include "../apple-sdk-shim.h"
