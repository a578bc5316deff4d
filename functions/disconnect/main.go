// Command disconnect is the $disconnect Lambda: it deletes the row of this
// connection of the authorizer's player.
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
)

func main() {
	lambdamain.Start("disconnect", os.Getenv, func(f *lambdamain.Function) (any, error) {
		a, err := f.App()
		if err != nil {
			return nil, err
		}
		return a.Disconnect().Handle, nil
	})
}
