package breaker

import "sync/atomic"

// notifier delivers state changes to OnStateChange one at a time and in
// generation order, without a lock that a transition could wait on.
//
// Every swap that starts a generation pushes one event, so generations
// number the events without gaps. A push writes its event into the slot of
// its generation and then tries to become the deliverer: whoever takes the
// busy flag delivers events in order for as long as the next one is there,
// then lets go and looks once more, so an event pushed while it was
// letting go is not stranded (the pusher's failed take of the flag comes
// before the release, and its slot write before that). A transition thus
// never waits: if another goroutine is delivering, even one stuck in the
// callback, it leaves its event and returns. A callback that calls the
// breaker, even one that makes a transition, only queues another event,
// which the loop it runs in delivers after it returns.
//
// The queue holds notifySlots events. When a change is notifySlots
// generations behind the newest, because its pusher stalled between its
// swap and its push or because a slow callback held up delivery, a later
// change takes its slot; the deliverer skips it and counts it
// (Counts.CallbacksDropped) rather than wait or keep an unbounded queue.
// That is the only way a change goes unseen.
type notifier struct {
	fn      func(from, to State)
	busy    atomic.Bool
	next    atomic.Uint32 // the generation to deliver next; written only by the deliverer
	dropped atomic.Uint64
	// slots[g%notifySlots] holds g<<16 | from<<8 | to; 0 is empty.
	slots [notifySlots]atomic.Uint64
}

const notifySlots = 64

func newNotifier(fn func(from, to State), first uint32) *notifier {
	n := &notifier{fn: fn}
	n.next.Store(first)
	return n
}

// push queues the change that started generation gen and delivers what it
// can.
func (n *notifier) push(gen uint32, from, to State) {
	v := uint64(gen)<<16 | uint64(from)<<8 | uint64(to)
	s := &n.slots[gen%notifySlots]
	for {
		cur := s.Load()
		if cur != 0 && !genBefore(uint32(cur>>16), gen) {
			break // a later generation took the slot; the deliverer counts this one
		}
		if s.CompareAndSwap(cur, v) {
			break
		}
	}
	for n.busy.CompareAndSwap(false, true) {
		n.deliver()
		if !n.ready() {
			return
		}
	}
}

// deliver runs with busy held and releases it, also if the callback
// panics: the panic reaches the caller whose call delivered, and later
// changes are still delivered.
func (n *notifier) deliver() {
	defer n.busy.Store(false)
	for {
		g := n.next.Load()
		v := n.slots[g%notifySlots].Load()
		switch sg := uint32(v >> 16); {
		case v == 0 || genBefore(sg, g):
			hookNotifyBeforeRelease()
			return // not pushed yet; its pusher will deliver it
		case sg != g:
			n.dropped.Add(1) // overwritten before it was delivered
			n.next.Store(nextGen(g))
		default:
			n.next.Store(nextGen(g))
			if from, to := State(v>>8), State(v); from != to {
				n.fn(from, to)
			}
		}
	}
}

// ready reports whether the next event is there to deliver (or skip).
func (n *notifier) ready() bool {
	g := n.next.Load()
	v := n.slots[g%notifySlots].Load()
	return v != 0 && !genBefore(uint32(v>>16), g)
}
