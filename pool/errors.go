package pool

import (
	"errors"
	"strings"
)

var (
	// ErrNotOwned is returned by Put for a slice that does not start a buffer this pool
	// handed out: heap memory, another pool's buffer, an interior slice b[k:], or a slice
	// that append moved elsewhere. The pool is unchanged.
	ErrNotOwned = errors.New("zeropool: buffer not owned by this pool")
	// ErrDoublePut is returned by Put for a buffer that is already back in the pool. The pool
	// is unchanged.
	ErrDoublePut = errors.New("zeropool: buffer already returned to the pool")
	// ErrClosed is returned by TryGet after Close, and wrapped into every refusal of Put
	// after Close (only buffers still out when the pool closed are taken back).
	ErrClosed = errors.New("zeropool: pool is closed")
	// ErrBuffersOut is returned by Close when buffers are still out. They stay valid until
	// their Put, which unmaps them.
	ErrBuffersOut = errors.New("zeropool: buffers still out at Close")
	// ErrCanary is returned by Put of a small buffer of a Secure pool whose canary, the bytes
	// just past its end, was overwritten: something wrote past the buffer. The buffer is
	// taken back (wiped, never handed out again) but the error must not be ignored.
	ErrCanary = errors.New("zeropool: canary after a secure buffer overwritten (write past its end)")
	// ErrInvalidConfig is returned by NewWithConfig for a Config it cannot honour.
	ErrInvalidConfig = errors.New("zeropool: invalid config")
	// ErrExhausted is returned by TryGet (and Preallocate) when a Get would map more than
	// Config.MaxMappedBytes. The pool is unchanged and keeps serving.
	ErrExhausted = errors.New("zeropool: MaxMappedBytes reached")
	// ErrInvalidSize is returned by TryGet for a negative size or one larger than any mapping
	// can be.
	ErrInvalidSize = errors.New("zeropool: invalid buffer size")
)

// pkgPrefix starts every error of the package, once: the helpers below drop it from the
// errors they wrap, so that a chain reads "zeropool: Get(4096): MaxMappedBytes reached".
const pkgPrefix = "zeropool: "

// opErr is an error of one operation of the pool ("Get(4096)") and its cause.
type opErr struct {
	op  string
	err error
}

func (e *opErr) Error() string {
	return pkgPrefix + e.op + ": " + strings.TrimPrefix(e.err.Error(), pkgPrefix)
}

func (e *opErr) Unwrap() error { return e.err }

// opError wraps err as the cause of the failure of op.
func opError(op string, err error) error { return &opErr{op, err} }

// bothErr is two errors at once, such as ErrClosed and the refusal it explains; errors.Is
// finds either.
type bothErr struct{ outer, inner error }

func (e *bothErr) Error() string {
	return e.outer.Error() + ": " + strings.TrimPrefix(e.inner.Error(), pkgPrefix)
}

func (e *bothErr) Unwrap() []error { return []error{e.outer, e.inner} }

func both(outer, inner error) error { return &bothErr{outer, inner} }

// ErrTooManyReferences is returned by Retain for a buffer that has MaxReferences references
// already. Nothing is added.
var ErrTooManyReferences = errors.New("zeropool: too many references to one buffer")

var (
	// ErrNotSecure is returned by Freeze and Melt for a buffer of a pool without
	// Config.Secure.
	ErrNotSecure = errors.New("zeropool: not a Secure pool")
	// ErrSharedPage is returned by Freeze for a buffer smaller than a page: it shares its
	// page with other buffers (small secrets are packed into slabs), whose protection Freeze
	// must not change. Nothing is changed. A buffer of a page or more has pages of its own.
	ErrSharedPage = errors.New("zeropool: buffer shares its page with other buffers")
)

// ErrReleased is returned by the methods of a Buffer that can return an error once Release
// has given its storage back (or for a Buffer that NewBuffer did not make), and is the value
// of the panic of Grow in that state.
var ErrReleased = errors.New("zeropool: Buffer used after Release (or not made by NewBuffer)")

// Errors of UnreadByte and UnreadRune, as bufio's: the call did not follow the read it would
// undo.
var (
	ErrInvalidUnreadByte = errors.New("zeropool: Buffer.UnreadByte: previous operation was not a successful read")
	ErrInvalidUnreadRune = errors.New("zeropool: Buffer.UnreadRune: previous operation was not a successful ReadRune")
)
