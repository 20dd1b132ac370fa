// Converts unit pairs with @lhncbc/ucum-lhc, a UCUM implementation independent of
// trialscreen, so that screening's TestUnitTableAgreesWithUCUM can check the
// protocol's unit table against it.
//
// stdin:  [{"from": "/uL", "to": "10*9/L"}, {"from": "umol/L", "to": "mg/dL", "molarMass": 584.66}, ...]
// stdout: {"version": "7.1.10", "results": [{"valid": true, "factor": 0.001}, {"valid": true, "error": "..."}, ...]}
// factor is how many `to` one `from` is; valid says whether `from` is a valid UCUM code.
'use strict';

const ucum = require('@lhncbc/ucum-lhc').UcumLhcUtils.getInstance();
const { version } = require('@lhncbc/ucum-lhc/package.json');

function convert({ from, to, molarMass }) {
  const valid = ucum.validateUnitString(from).status === 'valid';
  // A molar mass lets ucum-lhc convert between moles and mass (umol/L to mg/dL).
  const r = ucum.convertUnitTo(from, 1, to, molarMass ? { molecularWeight: molarMass } : {});
  if (r.status === 'succeeded') {
    return { valid, factor: r.toVal };
  }
  return { valid, error: r.msg.join(' ') || r.status };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const results = JSON.parse(input).map(convert);
  process.stdout.write(JSON.stringify({ version, results }) + '\n');
});
