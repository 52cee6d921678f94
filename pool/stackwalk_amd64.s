#include "textflag.h"

// func callerFP() unsafe.Pointer
//
// The frame pointer of the function that calls it: NOFRAME leaves BP as the caller set it.
TEXT ·callerFP(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ	BP, ret+0(FP)
	RET
