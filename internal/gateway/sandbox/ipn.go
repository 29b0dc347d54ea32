package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// deliver sends t's IPN with retries (§4.4): in the background, or with
// the first call made before returning when firstNow is set.
func (s *Sandbox) deliver(t *txn, f Faults, firstNow bool) {
	s.mu.Lock()
	target, query, ref := t.ipnTarget, t.ipnQuery, t.TxnRef
	if target == "" || f.SkipIPN || s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	u := withQuery(target, query)
	run := func(first int) {
		for n := first; n <= s.cfg.MaxAttempts; n++ {
			if s.attempt(t, u, f.DuplicateIPN) {
				return
			}
			if n == s.cfg.MaxAttempts {
				break
			}
			if !s.sleep(s.cfg.RetryInterval) {
				return
			}
		}
		s.log.Warn("ipn: giving up", "txn_ref", ref, "attempts", s.cfg.MaxAttempts)
	}
	if firstNow && f.IPNDelay <= 0 {
		if s.attempt(t, u, f.DuplicateIPN) || s.cfg.MaxAttempts <= 1 {
			s.wg.Done()
			return
		}
		go func() {
			defer s.wg.Done()
			if s.sleep(s.cfg.RetryInterval) {
				run(2)
			}
		}()
		return
	}
	go func() {
		defer s.wg.Done()
		if f.IPNDelay > 0 && !s.sleep(f.IPNDelay) {
			return
		}
		run(1)
	}()
}

// sleep waits d, or until Close; it reports whether the sandbox is still open.
func (s *Sandbox) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// attempt makes one IPN call (two concurrent identical calls when dup)
// and reports whether the merchant took it (RspCode 00 or 02).
func (s *Sandbox) attempt(t *txn, u string, dup bool) bool {
	if !dup {
		return s.call(t, u)
	}
	var wg sync.WaitGroup
	var ok [2]bool
	for i := range ok {
		wg.Go(func() { ok[i] = s.call(t, u) })
	}
	wg.Wait()
	return ok[0] || ok[1]
}

// call GETs the IPN URL once and records the answer.
func (s *Sandbox) call(t *txn, u string) bool {
	code := ""
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, u, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = s.cfg.HTTPClient.Do(req); err == nil {
			var body struct{ RspCode string }
			if resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil {
				code = body.RspCode
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
	}
	delivered := code == "00" || code == "02"
	s.mu.Lock()
	t.IPNAttempts++
	t.IPNLastCode = code
	if delivered {
		t.IPNDelivered = true
	}
	n, ref := t.IPNAttempts, t.TxnRef
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("ipn: call failed", "txn_ref", ref, "attempt", n, "err", err)
	} else {
		s.log.Info("ipn: answered", "txn_ref", ref, "attempt", n, "rsp_code", code)
	}
	return delivered
}
