// autocannon setupRequest (loaded by path in its worker thread): every request asks for another
// `limit`, so no answer comes from the API's answer cache — the figure is the query's own cost.
let sequence = 0;
module.exports = (request) => {
  sequence++;
  return { ...request, path: `${request.path}&limit=${2000 + (sequence % 1_000_000)}` };
};
