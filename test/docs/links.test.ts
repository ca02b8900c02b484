// The README and docs/: every relative link reaches a file (and a heading, when it names one), the README stays a screenful, and every variable is documented.
import { access, readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { EnvSchema } from '../../src/config.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const pages = ['README.md', ...(await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]
const text = new Map(await Promise.all(pages.map(async (page) => [page, await readFile(join(root, page), 'utf8')] as const)))

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
function anchorOf (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
}

function anchorsIn (markdown: string): Set<string> {
  // Headings outside code blocks only.
  const outsideCode = markdown.replace(/^```[\s\S]*?^```$/gm, '')
  return new Set([...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')))
}

t.test('every relative link in the README and docs/ reaches a file, and the heading it names', async (t) => {
  let checked = 0
  for (const [page, markdown] of text) {
    const outsideCode = markdown.replace(/^```[\s\S]*?^```$/gm, '')
    for (const [, target = ''] of outsideCode.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue
      const [path = '', anchor] = target.split('#')
      const file = path === '' ? join(root, page) : join(root, dirname(page), path)
      checked++
      const exists = await access(file).then(() => true, () => false)
      t.ok(exists, `${page}: ${target} exists`)
      if (exists && anchor !== undefined && file.endsWith('.md')) {
        const targetText = text.get(relative(root, file)) ?? await readFile(file, 'utf8')
        t.ok(anchorsIn(targetText).has(anchor), `${page}: ${target} names a heading of ${relative(root, file)}`)
      }
    }
  }
  t.ok(checked > 50, `${checked} links checked`)
})

t.test('the README fits in 300 lines', (t) => {
  const lines = (text.get('README.md') ?? '').split('\n').length - 1
  t.ok(lines <= 300, `${lines} lines`)
  t.end()
})

t.test('every variable filegate reads is in .env.example and docs/configuration.md, and in the README\'s table by name or by its group', async (t) => {
  const example = await readFile(join(root, '.env.example'), 'utf8')
  const guide = text.get('docs/configuration.md') ?? ''
  const readme = text.get('README.md') ?? ''
  const groups = [...readme.matchAll(/`([A-Z][A-Z0-9_]*_)\*`/g)].map((match) => match[1] ?? '')
  for (const name of Object.keys(EnvSchema.properties)) {
    t.match(example, new RegExp(`^#? ?${name}=`, 'm'), `${name} in .env.example`)
    t.ok(guide.includes(`\`${name}\``), `${name} in docs/configuration.md`)
    t.ok(readme.includes(`\`${name}\``) || groups.some((group) => name.startsWith(group)), `${name} in the README's table`)
  }
})
