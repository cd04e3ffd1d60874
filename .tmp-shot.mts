import { launchChromium } from './tests/helpers/browser.ts';
const c = await launchChromium();
const page = await c.context.newPage();
await page.goto('file://' + (process.argv[2] ?? '/tmp/rep/s1/report/report.html'));
const h = await page.evaluate(() => document.body.scrollHeight);
for (let i = 0; i < Math.ceil(h / 1300); i++) {
  await page.screenshot({ path: `/tmp/rep/shot-${i}.png`, fullPage: true, clip: { x: 0, y: i * 1300, width: 1280, height: Math.min(1300, h - i * 1300) } });
}
console.log(h);
await c.close();
