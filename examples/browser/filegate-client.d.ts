// The types of /demo/filegate-client.js, which filegate serves from client/ (bundled): so that demo.js is type-checked against the client.
export * from '../../client/src/index.js'
