package wsgateway

import (
	"bytes"
	"net"
	"testing"
)

// TestInspectedConnReadAllocs: reading frames through the inspector reuses
// its storage; every frame passes here.
func TestInspectedConnReadAllocs(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &inspectedConn{Conn: a, frames: &frameInspector{limit: 1 << 20, onTooBig: func() {}}}
	frame := append([]byte{0x81, 0x85, 1, 2, 3, 4}, bytes.Repeat([]byte{'x'}, 5)...)
	go func() {
		for {
			if _, err := b.Write(frame); err != nil {
				return
			}
		}
	}()
	p := make([]byte, 64)
	allocs := testing.AllocsPerRun(100, func() { _, _ = c.Read(p) })
	if allocs > 0 {
		t.Errorf("%v allocations per Read, want 0", allocs)
	}
}
