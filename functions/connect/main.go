// Command connect is the $connect Lambda: it stores the connection of the
// authorizer's player, refusing a banned player (403 banned), a player over the connection cap (403) or
// connecting too often (429).
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
)

func main() {
	lambdamain.Start("connect", os.Getenv, func(f *lambdamain.Function) (any, error) {
		a, err := f.App()
		if err != nil {
			return nil, err
		}
		h, err := a.Connect()
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	})
}
