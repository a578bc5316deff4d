// Command messages is the Lambda behind every route after $connect:
// sendmessage, inbox, presence, ping and $default. One function serves them
// all so that a player's traffic meets warm instances, and their rate-limit
// deny cache, more often, and so that there is one cold start to pay, not
// five.
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
)

func main() {
	lambdamain.Start("messages", os.Getenv, func(f *lambdamain.Function) (any, error) {
		a, err := f.App()
		if err != nil {
			return nil, err
		}
		h, err := a.Messages()
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	})
}
