package engine

// cursorHeap is a binary min-heap of cursors ordered by the Mono of the
// event each points at: the sink writer's k-way merge of the batches it
// holds, O(log k) per event. Hand-written rather than container/heap,
// whose interface would box a cursor on every push.
type cursorHeap []cursor

func (h cursorHeap) less(i, j int) bool { return h[i].mono() < h[j].mono() }

func (h *cursorHeap) push(c cursor) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// pop removes and returns the minimum.
func (h *cursorHeap) pop() cursor {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = cursor{}
	*h = s[:last]
	h.fix()
	return top
}

// runnerUp is the smallest key after the minimum's (a child of the root);
// the heap has at least two cursors.
func (h cursorHeap) runnerUp() int64 {
	m := h[1].mono()
	if len(h) > 2 {
		m = min(m, h[2].mono())
	}
	return m
}

// fix restores the order after the minimum's key grew.
func (h cursorHeap) fix() {
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
