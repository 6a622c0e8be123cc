package scheduler

// FireDue runs one pass of the firing loop at the clock's time, so tests on
// a fake clock know the pass happened. The loop's own passes may run too;
// each due time fires once either way.
func (s *Service) FireDue() { s.fireDue(s.clock.Now()) }
