package capacity

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

// bucket is a token bucket: Take reports whether a token was there.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// TestSearchTokenBucket searches a real server that answers at once while
// a token bucket of a known rate has tokens, and 100 ms late when it has
// none: every request above the bucket's rate is slow, so the p99 breaks
// just above that rate. The search must find it within 10 %. The
// objective (p99 25 ms) and the bucket's burst (50 ms of tokens) leave
// room for the scheduling delays of a busy shared machine, which are not
// what the test is about.
func TestSearchTokenBucket(t *testing.T) {
	const limit = 1000.0 // req/s
	b := &bucket{rate: limit, burst: limit / 20, tokens: limit / 20}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.take() {
			time.Sleep(100 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	measure := func(ctx context.Context, rate float64) (*loadgen.Result, error) {
		return loadgen.Run(ctx, loadgen.Config{URL: srv.URL + "/", Connections: 256, Rate: rate,
			Warmup: 300 * time.Millisecond, Duration: 700 * time.Millisecond, Timeout: 2 * time.Second})
	}
	res, err := Search(ctx, Config{Objective: Objective{P99: 25 * time.Millisecond, ErrorBudget: 0.01},
		Start: 430, Measure: measure}) // not a power-of-two fraction of the limit
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range res.Steps {
		t.Logf("step %d: asked %.0f achieved %.0f p50 %v p99 %v p99.9 %v held %v %s",
			i, s.Rate, s.Achieved, s.P50, s.P99, s.P999, s.Held, s.Why)
	}
	t.Logf("capacity %.0f req/s (bucket %.0f), %s: %s", res.Capacity, limit, res.Outcome, res.Detail)
	if res.Outcome != Found {
		t.Fatalf("outcome %s: %s", res.Outcome, res.Detail)
	}
	if off := math.Abs(res.Capacity-limit) / limit; off > 0.10 {
		t.Errorf("capacity %.0f req/s is %.0f %% off the bucket's %.0f req/s", res.Capacity, off*100, limit)
	}
}
