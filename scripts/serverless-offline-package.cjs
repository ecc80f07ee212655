// A Serverless Framework v3 plugin used by serverless.yml. `serverless package` asks CloudFormation
// for the last deployed hash of each layer (to skip re-uploading an unchanged layer) — a call that
// fails without AWS. That comparison only matters when deploying, so during the `package` command
// alone this plugin turns it off; `serverless deploy` keeps it.
'use strict';

class OfflinePackage {
  constructor(serverless) {
    const commands = serverless.processedInput?.commands ?? [];
    if (commands.length !== 1 || commands[0] !== 'package') return;
    this.hooks = {
      'before:package:compileLayers': () => {
        for (const plugin of serverless.pluginManager.plugins) {
          if (plugin.constructor?.name === 'AwsCompileLayers') plugin.compareWithLastLayer = async () => undefined;
        }
      },
    };
  }
}

module.exports = OfflinePackage;
