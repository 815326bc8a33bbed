package loadgen

import (
	"math/rand/v2"
	"testing"
)

// The stream table agrees with a map through random insertions and
// deletions, including ids far apart that collide on the same slots.
func TestStreamTable(t *testing.T) {
	for _, size := range []int{1, 8, 100} {
		tab := newStreamTable(size)
		ref := map[uint32]int32{}
		rnd := rand.New(rand.NewPCG(1, uint64(size)))
		next := uint32(1)
		for op := 0; op < 200000; op++ {
			if len(ref) < size && rnd.IntN(2) == 0 {
				id := next
				next += 2 * uint32(1+rnd.IntN(3)) // gaps, as after refused streams
				if rnd.IntN(10) == 0 {
					next += uint32(len(tab.ids)) * 2 // same home slot as an older id
				}
				v := int32(rnd.IntN(1000))
				tab.put(id, v)
				ref[id] = v
			} else if len(ref) > 0 {
				var id uint32
				for id = range ref {
					break
				}
				tab.del(id)
				delete(ref, id)
				tab.del(id) // deleting an absent id is harmless
			}
			if op%97 == 0 {
				for id, v := range ref {
					if got, ok := tab.get(id); !ok || got != v {
						t.Fatalf("size %d op %d: get(%d) = %d, %v; want %d", size, op, id, got, ok, v)
					}
				}
				if _, ok := tab.get(next); ok {
					t.Fatalf("size %d: absent id %d found", size, next)
				}
			}
		}
	}
}

func TestStreamPool(t *testing.T) {
	p := newStreamPool(3)
	a, b, c := p.add(1), p.add(3), p.add(5)
	if p.n != 3 || len(p.free) != 0 {
		t.Fatalf("n %d, free %d", p.n, len(p.free))
	}
	p.remove(b)
	if i, ok := p.get(3); ok {
		t.Fatalf("removed stream found at %d", i)
	}
	d := p.add(7)
	if d != b {
		t.Errorf("freed entry %d not reused (got %d)", b, d)
	}
	for id, want := range map[uint32]int32{1: a, 5: c, 7: d} {
		if i, ok := p.get(id); !ok || i != want || p.s[i].id != id {
			t.Errorf("get(%d) = %d, %v; want %d", id, i, ok, want)
		}
	}
}
