// The Node.js version notice: one line on an older Node.js, nothing on the recommended one or later.
import t from 'tap'
import { nodeVersionNotice, quietAwsSdkNodeWarning, RECOMMENDED_NODE_MAJOR } from '../src/node-version.js'

t.test('an older Node.js gets one line naming both versions', (t) => {
  const notice = nodeVersionNotice('v20.20.2')
  t.ok(notice !== undefined && !notice.includes('\n'), `one line: ${notice}`)
  t.match(notice, /Node\.js 20\.20\.2 is supported, but Node\.js 22 is recommended/)
  t.end()
})

t.test('the recommended Node.js and later get none', (t) => {
  t.equal(nodeVersionNotice(`v${RECOMMENDED_NODE_MAJOR}.0.0`), undefined)
  t.equal(nodeVersionNotice('v24.1.0'), undefined)
  t.equal(nodeVersionNotice('not a version'), undefined)
  t.end()
})

t.test('the AWS SDK warning is quieted only where the operator did not decide', (t) => {
  const env: NodeJS.ProcessEnv = {}
  quietAwsSdkNodeWarning(env)
  t.equal(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'true')
  const chosen: NodeJS.ProcessEnv = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' }
  quietAwsSdkNodeWarning(chosen)
  t.equal(chosen.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'false')
  t.end()
})
