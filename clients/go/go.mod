module github.com/rolloutd/rolloutd/clients/go

go 1.19
