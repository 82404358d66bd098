// A Lambda handler, unmodified: Portico runs it through AWS's Node runtime client and
// hands it API Gateway's HTTP API (payload 2.0) event.
export const handler = async (event, context) => {
  const name = event.pathParameters?.name ?? 'world';
  console.log(`greeting ${name}`);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ greeting: `hello, ${name}`, function: context.functionName, request_id: context.awsRequestId }),
  };
};
